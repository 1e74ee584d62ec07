from otter.test_files import test_case

OK_FORMAT = False

name = "spread_ratio"
points = 1

@test_case(points=None, hidden=False)
def test_spread_ratio(spread_ratio):
    from labkit.exercises import check
    check('spread_ratio', spread_ratio)

