from otter.test_files import test_case

OK_FORMAT = False

name = "jsd"
points = 1

@test_case(points=None, hidden=False)
def test_jsd(jensen_shannon):
    from labkit.exercises import check
    check('jsd', jensen_shannon)

