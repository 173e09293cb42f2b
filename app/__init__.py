"""Camera-footage extraction request tracker."""
