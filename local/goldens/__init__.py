"""The goldens generators, all here; their data is in tests/goldens/, which ``make test`` compares
against without Java. ``make goldens``: the FreeMarker corpus (freemarker_corpus.py) rendered by
Apache FreeMarker (freemarker.py, RenderCases.java), after ``make locale-data`` (locale_data.py,
LocaleData.java); ``make goldens-regex``: the trigger-pattern corpus (java_regex_corpus.py)
decided by java.util.regex (java_regex.py, RegexGoldens.java)."""
