"""The live training view: redraws in place with a frontend, does nothing headless."""

import torch

from labkit.data import synthetic_blobs
from labkit.live import LiveView
from labkit.models import dcgan
from labkit.train import train_gan


def test_live_view_is_inactive_headless(monkeypatch):
    monkeypatch.setenv("LABKIT_HEADLESS", "1")
    assert LiveView().active is False


def test_live_view_redraws_one_display_during_training(tmp_path, monkeypatch):
    shown, updates = [], []

    class Handle:
        def update(self, fig):
            updates.append(fig)

    def fake_display(fig, display_id=False):
        shown.append(fig)
        return Handle()

    monkeypatch.setattr("IPython.display.display", fake_display)
    torch.manual_seed(0)
    generator, discriminator = dcgan(image_size=32, channels=1, nz=16, ngf=8, ndf=8)
    view = LiveView(every_s=0.0, force=True)
    train_gan(generator, discriminator, synthetic_blobs(64, 32, 1), epochs=2, batch_size=16,
              log_every=2, progress=False, out_dir=tmp_path, callbacks=(view,))
    # 2 epochs × (2 log lines + 1 epoch end) = 6 draws into ONE display, updated in place.
    assert len(shown) == 1 and len(updates) == 5 and view.draws == 6
    last = updates[-1]
    assert len(last.axes) == 3  # losses, D outputs, samples
    assert [line.get_label() for line in last.axes[0].lines] == ["Loss_D", "Loss_G"]
    assert last.axes[2].get_title() == "samples after epoch 2"
