"""``chainrule.sklearn``: chainrule networks and image features as scikit-learn estimators.

They pass scikit-learn's estimator checks and work in ``Pipeline``, ``GridSearchCV``
and ``cross_val_score``; the training is chainrule's own
(:class:`~chainrule.train.Trainer`, compiled steps included). Needs scikit-learn >= 1.6.

============================  ===============================================================
estimator                     what it is
============================  ===============================================================
:class:`MLPClassifier`        a fully-connected network classifier (softmax or SVM loss)
:class:`MLPRegressor`         a fully-connected network regressor (squared error)
:class:`FeatureTransformer`   ``chainrule.features`` extractors (HOG, colour, Gabor, BoW)
============================  ===============================================================

>>> from sklearn.pipeline import Pipeline
>>> from chainrule.sklearn import FeatureTransformer, MLPClassifier
>>> clf = Pipeline([("hog", FeatureTransformer("hog", image_shape=(8, 8), value_range=(0, 16),
...                                            options={"hog": {"cell_size": 4}})),
...                 ("mlp", MLPClassifier(epochs=30))])
"""

from chainrule.sklearn.classifier import MLPClassifier
from chainrule.sklearn.features import FeatureTransformer
from chainrule.sklearn.regressor import MLPRegressor

__all__ = ["FeatureTransformer", "MLPClassifier", "MLPRegressor"]
