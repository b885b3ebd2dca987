@todos
Feature: Managing to-dos through the front end
  As a user of the to-do service
  I want to keep a list of things to do
  So that I do not forget them

  Background:
    Given the to-do app is deployed on the suite's cluster
    And a new user Alice with an empty list

  Scenario: Alice adds a to-do and finds it in her list
    When Alice adds the to-do "Buy milk"
    Then Alice's list shows "Buy milk" as open

  @needs_read_one
  Scenario: Alice reads a single to-do
    Given Alice has added the to-do "Water the plants"
    When Alice opens the to-do "Water the plants"
    Then she sees the to-do "Water the plants" as open

  @needs_rename
  Scenario: Alice renames a to-do
    Given Alice has added the to-do "Call Bob"
    When Alice renames the to-do "Call Bob" to "Call Bob and Carol"
    Then Alice's list shows "Call Bob and Carol" as open
    And Alice's list does not show "Call Bob"

  @needs_completed_flag
  Scenario: Alice completes a to-do
    Given Alice has added the to-do "Pay the rent"
    When Alice completes the to-do "Pay the rent"
    Then Alice's list shows "Pay the rent" as done

  Scenario: Alice deletes a to-do
    Given Alice has added the to-do "Old errand"
    When Alice deletes the to-do "Old errand"
    Then Alice's list does not show "Old errand"

  @needs_creation_order
  Scenario: Alice's to-dos keep the order she added them in
    Given Alice has added the to-dos "first", "second" and "third"
    Then Alice's list shows "first", "second" and "third" in that order

  @needs_title_length @needs_sql_reconciliation
  Scenario: A to-do without a title is refused
    When Alice tries to add a to-do without a title
    Then she is told that the title is invalid
    And Alice's list is still empty

  @needs_title_length @needs_sql_reconciliation
  Scenario: A to-do with a title longer than 200 characters is refused
    When Alice tries to add a to-do with a title of 201 characters
    Then she is told that the title is invalid
    And Alice's list is still empty

  @needs_title_length
  Scenario: A to-do of 200 characters is accepted
    When Alice adds a to-do with a title of 200 characters
    Then Alice's list holds 1 to-do

  @needs_not_found_errors @needs_read_one
  Scenario: Asking for a to-do that does not exist is answered clearly
    When Alice asks for a to-do that does not exist
    Then she is told that the to-do was not found

  @needs_not_found_errors @needs_completed_flag
  Scenario: Changing a to-do that does not exist is answered clearly
    When Alice tries to complete a to-do that does not exist
    Then she is told that the to-do was not found

  @needs_not_found_errors
  Scenario: Deleting a to-do that does not exist is answered clearly
    When Alice tries to delete a to-do that does not exist
    Then she is told that the to-do was not found
