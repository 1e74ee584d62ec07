from otter.test_files import test_case

OK_FORMAT = False

name = "step_reaching_0_9"
points = 1

@test_case(points=None, hidden=False)
def test_step_reaching_0_9(first_step, curve):
    from labkit.exercises import check
    check('step_reaching_0_9', first_step, curve)

