from otter.test_files import test_case

OK_FORMAT = False

name = "loss_d_vs_chance"
points = 1

@test_case(points=None, hidden=False)
def test_loss_d_vs_chance(loss_d_last_epoch, below_chance, run):
    from labkit.exercises import check
    check('loss_d_vs_chance', loss_d_last_epoch, below_chance, run)

