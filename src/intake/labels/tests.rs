//! Tests of the labels: fitting, ZPL.
