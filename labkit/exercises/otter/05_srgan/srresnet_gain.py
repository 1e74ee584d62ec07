from otter.test_files import test_case

OK_FORMAT = False

name = "srresnet_gain"
points = 1

@test_case(points=None, hidden=False)
def test_srresnet_gain(srresnet_gain, scores):
    from labkit.exercises import check
    check('srresnet_gain', srresnet_gain, scores)

