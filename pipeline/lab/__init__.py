"""Measuring tools: synthesised test calls, evaluation of every stage against labelled scripts, benchmarks.

Lab code may import stages and services; nothing in a stage or service imports it.
"""
