"""Pure: Thai dates, agency and province names, the calendar model, its loading and checks, and the one Thai wording of a closing."""
