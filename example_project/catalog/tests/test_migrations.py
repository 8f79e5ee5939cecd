from django.test import TransactionTestCase

from catalog.models import Category


class SeededCategoriesTests(TransactionTestCase):
    # Other TransactionTestCases flush the database; serialized_rollback
    # restores the rows created by the data migration before this test.
    serialized_rollback = True
    databases = {"default"}

    def test_seeded_categories_exist(self):
        slugs = set(Category.objects.using("default").values_list("slug", flat=True))
        self.assertLessEqual({"books", "electronics", "garden", "toys"}, slugs)

    def test_seeded_category_names(self):
        books = Category.objects.using("default").get(slug="books")
        self.assertEqual(books.name, "Books")
        self.assertTrue(books.description)
