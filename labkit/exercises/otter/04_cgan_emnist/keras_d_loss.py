from otter.test_files import test_case

OK_FORMAT = False

name = "keras_d_loss"
points = 1

@test_case(points=None, hidden=False)
def test_keras_d_loss(keras_d_loss):
    from labkit.exercises import check
    check('keras_d_loss', keras_d_loss)

