from otter.test_files import test_case

OK_FORMAT = False

name = "srgan_loss"
points = 1

@test_case(points=None, hidden=False)
def test_srgan_loss(srgan_generator_loss):
    from labkit.exercises import check
    check('srgan_loss', srgan_generator_loss)

