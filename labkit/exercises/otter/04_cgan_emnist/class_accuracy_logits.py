from otter.test_files import test_case

OK_FORMAT = False

name = "class_accuracy_logits"
points = 1

@test_case(points=None, hidden=False)
def test_class_accuracy_logits(requested_share):
    from labkit.exercises import check
    check('class_accuracy_logits', requested_share)

