from otter.test_files import test_case

OK_FORMAT = False

name = "gradient_penalty"
points = 1

@test_case(points=None, hidden=False)
def test_gradient_penalty(gradient_penalty):
    from labkit.exercises import check
    check('gradient_penalty', gradient_penalty)

