from otter.test_files import test_case

OK_FORMAT = False

name = "nonsaturating"
points = 1

@test_case(points=None, hidden=False)
def test_nonsaturating(nonsaturating_loss):
    from labkit.exercises import check
    check('nonsaturating', nonsaturating_loss)

