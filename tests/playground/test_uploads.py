"""An uploaded data set must be one a classifier can mean something on."""

from __future__ import annotations

import pytest

from chainrule.playground.limits import LimitError
from chainrule.playground.session import Session


@pytest.mark.parametrize("labels", [(0, 0, 0), (1, 1, 1), (3, 3, 3)])
def test_an_upload_of_one_class_is_refused(labels) -> None:
    s = Session()
    before = s.X.copy()
    text = "x1,x2,label\n" + "".join(f"{i * 0.5},{-i * 0.5},{c}\n" for i, c in enumerate(labels))
    with pytest.raises(LimitError, match="at least 2 classes"):
        s.load_csv(text)
    assert (s.X == before).all() and s.config.dataset != "custom"
