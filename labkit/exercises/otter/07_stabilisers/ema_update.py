from otter.test_files import test_case

OK_FORMAT = False

name = "ema_update"
points = 1

@test_case(points=None, hidden=False)
def test_ema_update(ema_update):
    from labkit.exercises import check
    check('ema_update', ema_update)

