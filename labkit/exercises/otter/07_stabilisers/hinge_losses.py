from otter.test_files import test_case

OK_FORMAT = False

name = "hinge_losses"
points = 1

@test_case(points=None, hidden=False)
def test_hinge_losses(hinge_losses):
    from labkit.exercises import check
    check('hinge_losses', hinge_losses)

