from otter.test_files import test_case

OK_FORMAT = False

name = "d_loss"
points = 1

@test_case(points=None, hidden=False)
def test_d_loss(discriminator_loss):
    from labkit.exercises import check
    check('d_loss', discriminator_loss)

