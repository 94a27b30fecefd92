"""History.to_dict: plain data equal to the dataclass's own conversion, and a copy."""

import dataclasses
import json

from glassnet.training.history import History


def test_to_dict_is_plain_data_equal_to_asdict_and_a_copy():
    history = History([1.5, 1.25], [1.75, 1.5], [0.5, 0.625], best_epoch=1)
    record = history.to_dict()
    assert record == dataclasses.asdict(history)
    assert History(**json.loads(json.dumps(record))) == history
    record["train_loss"].append(9.0)
    assert history.train_loss == [1.5, 1.25]
