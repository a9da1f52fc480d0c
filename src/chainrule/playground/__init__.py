"""The playground: train small chainrule networks on 2D data in the browser.

``chainrule playground`` serves a page (plain HTML, JavaScript and CSS of this package) where
each tab drives its own :class:`~chainrule.playground.session.Session`: a real
``chainrule.nn.MLP`` trained in Python, whose decision boundary, neurons, weights and losses
stream to the page over a WebSocket. See ``docs/playground.md``.

- :mod:`~chainrule.playground.session`: data, features, the network, training, frames;
- :mod:`~chainrule.playground.server`: the Starlette app (``create_app``);
- :mod:`~chainrule.playground.export`: checkpoint, data CSV and Python-script export;
- :mod:`~chainrule.playground.limits`: every cap on what a page can ask for.

Starlette and uvicorn are imported only by the server, so a session runs without them:

>>> from chainrule.playground import Session
>>> s = Session()
>>> s.apply({"hidden": [8, 8], "activation": "relu"})
'net'
"""

from chainrule.playground.session import Config, Session

__all__ = ["Config", "Session"]
