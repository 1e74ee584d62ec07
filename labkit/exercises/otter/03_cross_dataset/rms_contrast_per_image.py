from otter.test_files import test_case

OK_FORMAT = False

name = "rms_contrast_per_image"
points = 1

@test_case(points=None, hidden=False)
def test_rms_contrast_per_image(rms_contrast_per_image):
    from labkit.exercises import check
    check('rms_contrast_per_image', rms_contrast_per_image)

