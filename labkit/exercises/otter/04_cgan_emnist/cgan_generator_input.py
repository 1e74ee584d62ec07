from otter.test_files import test_case

OK_FORMAT = False

name = "cgan_generator_input"
points = 1

@test_case(points=None, hidden=False)
def test_cgan_generator_input(generator_input):
    from labkit.exercises import check
    check('cgan_generator_input', generator_input)

