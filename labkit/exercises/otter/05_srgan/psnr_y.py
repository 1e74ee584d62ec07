from otter.test_files import test_case

OK_FORMAT = False

name = "psnr_y"
points = 1

@test_case(points=None, hidden=False)
def test_psnr_y(psnr_y):
    from labkit.exercises import check
    check('psnr_y', psnr_y)

