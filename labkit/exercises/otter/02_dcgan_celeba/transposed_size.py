from otter.test_files import test_case

OK_FORMAT = False

name = "transposed_size"
points = 1

@test_case(points=None, hidden=False)
def test_transposed_size(transposed_output_size):
    from labkit.exercises import check
    check('transposed_size', transposed_output_size)

