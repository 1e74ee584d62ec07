from otter.test_files import test_case

OK_FORMAT = False

name = "pixel_shuffle_upsampler"
points = 1

@test_case(points=None, hidden=False)
def test_pixel_shuffle_upsampler(subpixel_upsampler):
    from labkit.exercises import check
    check('pixel_shuffle_upsampler', subpixel_upsampler)

