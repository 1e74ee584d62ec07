from otter.test_files import test_case

OK_FORMAT = False

name = "optimal_d"
points = 1

@test_case(points=None, hidden=False)
def test_optimal_d(optimal_discriminator):
    from labkit.exercises import check
    check('optimal_d', optimal_discriminator)

