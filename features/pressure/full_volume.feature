@pressure
Feature: A full database volume refuses new to-dos and keeps the old ones
  As a user of the to-do service
  I want a clear refusal when the service cannot store more
  So that my to-dos are never silently lost

  Background:
    Given the to-do app is deployed on the suite's cluster

  Scenario: A full database volume refuses new to-dos and keeps the old ones
    Given a new user Alice with 3 to-dos
    When the database's volume fills up
    Then a new to-do is refused with an error while the volume is full, and it is not stored
    And Alice still sees her 3 to-dos within 10 seconds
    When the space is freed again
    Then the service stores new to-dos again within 60 seconds
    And Alice still sees her 3 to-dos within 10 seconds
    And the database finds no damage in the stored to-dos
    And the fill file is gone from the database's volume

