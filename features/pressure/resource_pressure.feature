@pressure
Feature: The service copes with a full disk and a starved processor
  As a user of the to-do service
  I want a clear refusal when the service cannot store more, and prompt answers when it is busy
  So that my to-dos are never silently lost and the service never restarts itself into an outage

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
    And the fill file is gone from the database's volume

  Scenario: A back end starved of processor time keeps answering without restarts
    Given a reader that keeps reading the to-do list through the front end
    When the back end's containers are starved of CPU for 20 seconds
    Then the service answers within 2 seconds for 95 percent of requests while the back end is starved
    And no back-end replica was restarted
    And no CPU hog is left in any back-end replica
