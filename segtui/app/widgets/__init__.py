"""The app's widgets: the explore screen's parts, the bars, the plots and the tables."""
