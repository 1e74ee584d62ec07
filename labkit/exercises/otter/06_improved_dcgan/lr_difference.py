from otter.test_files import test_case

OK_FORMAT = False

name = "lr_difference"
points = 1

@test_case(points=None, hidden=False)
def test_lr_difference(lr_difference, lr_fast_better, study):
    from labkit.exercises import check
    check('lr_difference', lr_difference, lr_fast_better, study)

