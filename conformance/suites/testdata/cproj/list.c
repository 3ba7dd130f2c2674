/* A singly linked list with a merge sort. */
#include <stdlib.h>
#include "list.h"

struct node *list_push(struct node *head, int value)
{
	struct node *n = malloc(sizeof *n);
	if (!n)
		abort();
	n->value = value;
	n->next = head;
	return n;
}

struct node *list_reverse(struct node *head)
{
	struct node *prev = NULL;
	while (head) {
		struct node *next = head->next;
		head->next = prev;
		prev = head;
		head = next;
	}
	return prev;
}

static struct node *merge(struct node *a, struct node *b)
{
	struct node dummy = {0, NULL}, *t = &dummy;
	while (a && b) {
		if (a->value <= b->value) {
			t->next = a;
			a = a->next;
		} else {
			t->next = b;
			b = b->next;
		}
		t = t->next;
	}
	t->next = a ? a : b;
	return dummy.next;
}

struct node *list_sort(struct node *head)
{
	if (!head || !head->next)
		return head;
	struct node *slow = head, *fast = head->next;
	while (fast && fast->next) {
		slow = slow->next;
		fast = fast->next->next;
	}
	struct node *second = slow->next;
	slow->next = NULL;
	return merge(list_sort(head), list_sort(second));
}

int list_sum(const struct node *head)
{
	int s = 0;
	for (; head; head = head->next)
		s += head->value;
	return s;
}

void list_free(struct node *head)
{
	while (head) {
		struct node *next = head->next;
		free(head);
		head = next;
	}
}
