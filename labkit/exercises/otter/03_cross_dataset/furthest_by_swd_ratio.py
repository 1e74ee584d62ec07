from otter.test_files import test_case

OK_FORMAT = False

name = "furthest_by_swd_ratio"
points = 1

@test_case(points=None, hidden=False)
def test_furthest_by_swd_ratio(furthest_dataset, quality):
    from labkit.exercises import check
    check('furthest_by_swd_ratio', furthest_dataset, quality)

