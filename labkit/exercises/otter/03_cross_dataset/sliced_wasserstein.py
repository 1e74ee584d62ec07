from otter.test_files import test_case

OK_FORMAT = False

name = "sliced_wasserstein"
points = 1

@test_case(points=None, hidden=False)
def test_sliced_wasserstein(sliced_wasserstein):
    from labkit.exercises import check
    check('sliced_wasserstein', sliced_wasserstein)

