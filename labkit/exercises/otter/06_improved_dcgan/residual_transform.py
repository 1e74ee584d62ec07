from otter.test_files import test_case

OK_FORMAT = False

name = "residual_transform"
points = 1

@test_case(points=None, hidden=False)
def test_residual_transform(residual_transform):
    from labkit.exercises import check
    check('residual_transform', residual_transform)

