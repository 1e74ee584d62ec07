from otter.test_files import test_case

OK_FORMAT = False

name = "cgan_label_planes"
points = 1

@test_case(points=None, hidden=False)
def test_cgan_label_planes(discriminator_input):
    from labkit.exercises import check
    check('cgan_label_planes', discriminator_input)

