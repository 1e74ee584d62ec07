from otter.test_files import test_case

OK_FORMAT = False

name = "nearest_train_distance"
points = 1

@test_case(points=None, hidden=False)
def test_nearest_train_distance(nearest_train_distance):
    from labkit.exercises import check
    check('nearest_train_distance', nearest_train_distance)

