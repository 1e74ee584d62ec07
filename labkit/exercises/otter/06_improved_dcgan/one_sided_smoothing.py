from otter.test_files import test_case

OK_FORMAT = False

name = "one_sided_smoothing"
points = 1

@test_case(points=None, hidden=False)
def test_one_sided_smoothing(one_sided_d_loss):
    from labkit.exercises import check
    check('one_sided_smoothing', one_sided_d_loss)

