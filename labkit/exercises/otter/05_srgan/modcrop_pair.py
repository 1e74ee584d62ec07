from otter.test_files import test_case

OK_FORMAT = False

name = "modcrop_pair"
points = 1

@test_case(points=None, hidden=False)
def test_modcrop_pair(hr_lr_pair):
    from labkit.exercises import check
    check('modcrop_pair', hr_lr_pair)

