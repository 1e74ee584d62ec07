from otter.test_files import test_case

OK_FORMAT = False

name = "frechet_gaussians"
points = 1

@test_case(points=None, hidden=False)
def test_frechet_gaussians(frechet_distance):
    from labkit.exercises import check
    check('frechet_gaussians', frechet_distance)

