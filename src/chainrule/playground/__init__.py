"""The playground: train small chainrule networks on 2D data in the browser.

``chainrule playground`` serves a page (plain HTML, JavaScript and CSS of this package) where
each tab drives its own :class:`~chainrule.playground.session.Session`: a real
``chainrule.nn.MLP`` trained in Python, whose decision boundary, neurons, weights and losses
stream to the page over a WebSocket. See ``docs/playground.md``.

- :mod:`~chainrule.playground.config`: the setup a page edits (``Config``), its validation
  and the choices offered (names of the ``nn``/``optim`` registries);
- :mod:`~chainrule.playground.datasets`: the 2D points (generated or an uploaded CSV) and
  the input features computed from them;
- :mod:`~chainrule.playground.session`: one tab's data, network, optimizer and training;
- :mod:`~chainrule.playground.frames`: the heat maps and neuron maps of a frame;
- :mod:`~chainrule.playground.server`: the Starlette app (``create_app``);
- :mod:`~chainrule.playground.serving`: ``serve(host, port)``, the app run by uvicorn;
- :mod:`~chainrule.playground.export`: checkpoint, data CSV and Python-script export;
- :mod:`~chainrule.playground.limits`: every cap on what a page can ask for.

Starlette and uvicorn are imported only when the app is built and served, so a session
runs without them:

>>> from chainrule.playground import Session
>>> s = Session()
>>> s.apply({"hidden": [8, 8], "activation": "relu"})
'net'
"""

from chainrule.playground.config import Config
from chainrule.playground.serving import serve
from chainrule.playground.session import Session

__all__ = ["Config", "Session", "serve"]
