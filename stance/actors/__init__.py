"""Finding the actors of an article: gazetteer and Phoenix dictionaries, one actor per entity, references, the
mention finder at prediction time, and the actor pairs the model scores."""
