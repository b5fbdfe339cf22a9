"""kim-workflow: the engine of the yearly KIM reporting cycle in Rheinland-Pfalz."""

__version__ = "0.1.0"
