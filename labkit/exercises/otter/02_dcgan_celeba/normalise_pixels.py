from otter.test_files import test_case

OK_FORMAT = False

name = "normalise_pixels"
points = 1

@test_case(points=None, hidden=False)
def test_normalise_pixels(normalise_pixels):
    from labkit.exercises import check
    check('normalise_pixels', normalise_pixels)

