from otter.test_files import test_case

OK_FORMAT = False

name = "diffaugment_gap"
points = 1

@test_case(points=None, hidden=False)
def test_diffaugment_gap(diffaugment_gap, diffaugment_better, study):
    from labkit.exercises import check
    check('diffaugment_gap', diffaugment_gap, diffaugment_better, study)

