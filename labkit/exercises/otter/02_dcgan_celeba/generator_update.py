from otter.test_files import test_case

OK_FORMAT = False

name = "generator_update"
points = 1

@test_case(points=None, hidden=False)
def test_generator_update(generator_update):
    from labkit.exercises import check
    check('generator_update', generator_update)

