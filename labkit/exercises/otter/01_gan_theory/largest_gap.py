from otter.test_files import test_case

OK_FORMAT = False

name = "largest_gap"
points = 1

@test_case(points=None, hidden=False)
def test_largest_gap(largest_gap, optimal):
    from labkit.exercises import check
    check('largest_gap', largest_gap, optimal)

