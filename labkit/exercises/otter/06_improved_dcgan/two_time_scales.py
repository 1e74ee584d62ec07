from otter.test_files import test_case

OK_FORMAT = False

name = "two_time_scales"
points = 1

@test_case(points=None, hidden=False)
def test_two_time_scales(two_time_scale_adam):
    from labkit.exercises import check
    check('two_time_scales', two_time_scale_adam)

