from otter.test_files import test_case

OK_FORMAT = False

name = "dcgan_init"
points = 1

@test_case(points=None, hidden=False)
def test_dcgan_init(dcgan_init):
    from labkit.exercises import check
    check('dcgan_init', dcgan_init)

